"""The embedded `local` runtime: KRaft clusters and Kafka Connect workers as JVM processes on loopback.

Processes are started detached (their own session) so that they outlive the
`pulumi up` that created them; `pulumi destroy` (or a test's teardown) stops them.
"""
