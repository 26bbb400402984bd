"""Pulumi components, one per concept of the migration; each turns a plan into resources."""
