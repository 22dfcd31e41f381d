"""Terraform state locks: find them on every backend, judge whether their holder is alive, break them."""
