"""The course around the grader: authoring sources, releases, nbgrader glue."""
