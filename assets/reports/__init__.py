"""Reports built from the marts, after the evidence and the models are in place."""
