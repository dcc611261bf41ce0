"""Rollout design: randomised, stratified waves and the minimum detectable effect of a plan."""
