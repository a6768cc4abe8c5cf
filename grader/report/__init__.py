"""What a grading run reports: the contract's JSON objects, and views of them."""
