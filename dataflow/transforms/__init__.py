"""Named PTransforms of the job, each testable alone with TestStream or Create."""
