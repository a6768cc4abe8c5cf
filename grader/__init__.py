"""An autograder for a course on forward and backward propagation."""
