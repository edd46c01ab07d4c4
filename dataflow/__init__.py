"""The Beam job: entries in, the analysts' tables out. Same transforms on DirectRunner, Flink, Dataflow."""
