# Vault policy for Gantry's control plane (issue 8), for KV v2 mounted at secret/ and the default
# GANTRY_VAULT_PREFIX "gantry". Adjust both if GANTRY_VAULT_KV_MOUNT / GANTRY_VAULT_PREFIX are set.
#   vault policy write gantry jobspecs/vault-policy.hcl
#   vault auth enable approle
#   vault write auth/approle/role/gantry token_policies=gantry token_ttl=1h token_max_ttl=24h
#   vault read -field=role_id auth/approle/role/gantry/role-id          # → GANTRY_VAULT_ROLE_ID
#   vault write -f -field=secret_id auth/approle/role/gantry/secret-id  # → GANTRY_VAULT_SECRET_ID
# (or a periodic token: vault token create -policy=gantry -period=1h → VAULT_TOKEN)

# Secrets API values: <mount>/data/<prefix>/secrets/<name>.
path "secret/data/gantry/secrets/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "secret/metadata/gantry/secrets/*" {
  capabilities = ["read", "list", "delete"]
}

# Worker environments: <mount>/data/<nomad namespace>/<job id>/env, the path Nomad's default
# workload-identity policy lets that job alone read. Gantry's job ids start with "gantry-".
path "secret/data/+/gantry-*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/+/gantry-*" {
  capabilities = ["delete"]
}

# Token upkeep (also in Vault's default policy).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
