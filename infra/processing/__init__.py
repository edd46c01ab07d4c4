"""Where the Beam job runs in the cloud: Managed Service for Apache Flink on AWS (Dataflow: infra/jobs/)."""
