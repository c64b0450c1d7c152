"""database-ingress-from-functions-only with RDS Proxy: functions → proxy → database, nothing else."""

from __future__ import annotations

from policies import network as n
from tests.unit.policies.conftest import Finder, Resources

CHECK = next(check for check in n.CHECKS if check.control.name == "database-ingress-from-functions-only")


def _stack(resources: Resources, *, proxy_source: str = "functions", database_source: str = "proxy") -> None:
    functions_sg = resources.add(n.SECURITY_GROUP, "sg-functions", {})
    proxy_sg = resources.add(n.SECURITY_GROUP, "sg-proxy", {})
    database_sg = resources.add(n.SECURITY_GROUP, "sg-database", {})
    other_sg = resources.add(n.SECURITY_GROUP, "sg-other", {})
    sources = {"functions": functions_sg, "proxy": proxy_sg, "other": other_sg}
    resources.add(n.FUNCTION, "api", {}, deps={"vpcConfig": [functions_sg]})
    primary = resources.add(n.RDS_INSTANCE, "primary", {}, deps={"vpcSecurityGroupIds": [database_sg]})
    resources.add(
        n.RDS_INSTANCE, "replica", {"replicateSourceDb": "primary"}, deps={"vpcSecurityGroupIds": [database_sg]}
    )
    proxy = resources.add(n.PROXY, "proxy", {}, deps={"vpcSecurityGroupIds": [proxy_sg]})
    resources.add(n.PROXY_TARGET, "target", {}, deps={"dbProxyName": [proxy], "dbInstanceIdentifier": [primary]})
    resources.add(
        n.INGRESS_RULE,
        "proxy-from-source",
        {},
        deps={"securityGroupId": [proxy_sg], "referencedSecurityGroupId": [sources[proxy_source]]},
    )
    resources.add(
        n.INGRESS_RULE,
        "database-from-source",
        {},
        deps={"securityGroupId": [database_sg], "referencedSecurityGroupId": [sources[database_source]]},
    )


def test_given_functions_to_proxy_to_a_group_shared_by_primary_and_replica_then_no_finding(resources, findings):
    _stack(resources)
    assert findings(CHECK, resources) == []


def test_given_a_proxy_group_open_to_another_source_then_the_proxy_rule_is_named(resources, findings: Finder):
    _stack(resources, proxy_source="other")
    [(message, name)] = findings(CHECK, resources)
    assert name == "proxy-from-source"
    assert "the proxy security group" in message


def test_given_a_database_group_open_to_another_source_then_the_database_rule_is_named(resources, findings):
    _stack(resources, database_source="other")
    [(message, name)] = findings(CHECK, resources)
    assert name == "database-from-source"
    assert "the database security group" in message


def _aurora(resources: Resources, *, source: str, behind_proxy: bool = False) -> None:
    """An Aurora cluster (its security groups are the cluster's), reached by functions or a proxy."""
    functions_sg = resources.add(n.SECURITY_GROUP, "sg-functions", {})
    cluster_sg = resources.add(n.SECURITY_GROUP, "sg-cluster", {})
    proxy_sg = resources.add(n.SECURITY_GROUP, "sg-proxy", {})
    other_sg = resources.add(n.SECURITY_GROUP, "sg-other", {})
    sources = {"functions": functions_sg, "proxy": proxy_sg, "other": other_sg}
    resources.add(n.FUNCTION, "api", {}, deps={"vpcConfig": [functions_sg]})
    cluster = resources.add(
        n.RDS_CLUSTER, "aurora", {"engine": "aurora-postgresql"}, deps={"vpcSecurityGroupIds": [cluster_sg]}
    )
    resources.add("aws:rds/clusterInstance:ClusterInstance", "aurora-1", {}, deps={"clusterIdentifier": [cluster]})
    if behind_proxy:
        proxy = resources.add(n.PROXY, "proxy", {}, deps={"vpcSecurityGroupIds": [proxy_sg]})
        resources.add(n.PROXY_TARGET, "target", {}, deps={"dbProxyName": [proxy], "dbClusterIdentifier": [cluster]})
        resources.add(
            n.INGRESS_RULE,
            "proxy-from-functions",
            {},
            deps={"securityGroupId": [proxy_sg], "referencedSecurityGroupId": [functions_sg]},
        )
    resources.add(
        n.INGRESS_RULE,
        "cluster-from-source",
        {},
        deps={"securityGroupId": [cluster_sg], "referencedSecurityGroupId": [sources[source]]},
    )


def test_given_an_aurora_cluster_admitting_only_the_functions_then_no_finding(resources, findings):
    _aurora(resources, source="functions")
    assert findings(CHECK, resources) == []


def test_given_an_aurora_cluster_open_to_another_group_then_its_rule_is_named(resources, findings):
    _aurora(resources, source="other")
    [(message, name)] = findings(CHECK, resources)
    assert name == "cluster-from-source"
    assert "the database security group" in message


def test_given_an_aurora_cluster_behind_a_proxy_then_the_proxy_group_is_admitted(resources, findings):
    _aurora(resources, source="proxy", behind_proxy=True)
    assert findings(CHECK, resources) == []


def test_given_an_aurora_cluster_without_security_groups_then_it_is_reported(resources, findings):
    resources.add(n.RDS_CLUSTER, "aurora", {"engine": "aurora-postgresql"})
    [(message, name)] = findings(CHECK, resources)
    assert name == "aurora"
    assert "no security group of its own" in message
