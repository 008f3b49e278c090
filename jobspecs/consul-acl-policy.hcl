# Consul ACL policy for Gantry's control plane (issue 8).
#   consul acl policy create -name gantry -rules @jobspecs/consul-acl-policy.hcl
#   consul acl token create -description "gantry control plane" -policy-name gantry
# The token goes to CONSUL_HTTP_TOKEN. Change "gantry/" if GANTRY_CONSUL_KV_PREFIX is set.

# State (jobs, deployments, keys, secret records without values) and the leader lock key.
key_prefix "gantry/" {
  policy = "write"
}

# Leader election: a TTL session created on the agent Gantry talks to (any node), tied to a TTL check
# on a "gantry-election" service instance each replica registers on that agent (its heartbeat: a killed
# leader's check lapses one TTL after its last pass, which ends its session at once).
session_prefix "" {
  policy = "write"
}
service "gantry-election" {
  policy = "write"
}

# Discovery: healthy worker replicas from /v1/health/service/:name?passing (needs node reads too).
service_prefix "" {
  policy = "read"
}
node_prefix "" {
  policy = "read"
}
