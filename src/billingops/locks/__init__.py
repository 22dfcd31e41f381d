"""Terraform state locks: find them on every backend we use, judge whether their holder is alive, break them."""
