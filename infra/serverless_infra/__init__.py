"""The serverless-infra Pulumi program: typed settings, naming and tagging, and one component per concern."""
