"""Where the Beam job runs on AWS: Flink on EKS, or a scheduled batch on ECS (Dataflow: infra/jobs/)."""
