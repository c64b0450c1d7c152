"""Stack outputs: everything later steps need, and never a secret in plain text."""

from __future__ import annotations

from contract.parameters import STORED_PARAMETERS

EXPECTED_OUTPUTS = {
    "vpcId",
    "applicationSubnetIds",
    "databaseSubnetIds",
    "functionSecurityGroupId",
    "databaseWriterEndpoint",
    "databaseReaderEndpoint",
    "databaseMasterSecretArn",
    "parameterPrefix",
    "keyAliases",
    "artifactBucket",
}


def test_the_stack_exports_the_data_plane_outputs(stack_run):
    assert set(stack_run.outputs) >= EXPECTED_OUTPUTS


def test_outputs_point_at_the_registered_resources(stack_run):
    vpc = stack_run.of_type("aws:ec2/vpc:Vpc")[0]
    assert stack_run.outputs["vpcId"] == vpc.id
    assert stack_run.outputs["parameterPrefix"] == f"/myapp/{stack_run.stack}/"
    assert stack_run.outputs["keyAliases"]["database"] == f"alias/serverless-infra-{stack_run.stack}-database"
    assert stack_run.outputs["databaseWriterEndpoint"].startswith(f"serverless-infra-{stack_run.stack}-db-primary.")
    assert stack_run.outputs["databaseReaderEndpoint"].startswith(f"serverless-infra-{stack_run.stack}-db-replica-1.")


def test_no_generated_secret_appears_in_any_output(stack_run):
    secret_values = set()
    for spec in (s for s in STORED_PARAMETERS if s.sensitive):
        qualifier = f"{spec.category.value}-{spec.name.replace('_', '-')}"
        password = stack_run.named(
            "random:index/randomPassword:RandomPassword", f"serverless-infra-{stack_run.stack}-secret-{qualifier}"
        )
        secret_values.add(password.outputs["result"])
    rendered = repr(stack_run.outputs)
    assert secret_values
    assert not any(value in rendered for value in secret_values)
