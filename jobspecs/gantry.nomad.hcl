# Gantry's control plane on Nomad: three replicas behind one Consul service. One replica is the leader
# (Consul session lock); the others forward queue and worker traffic to it. State lives in Consul KV,
# secrets in Vault, worker jobs in Nomad; the blob store is a directory shared by every replica.
#
#   nomad acl policy apply -namespace default -job gantry gantry-control-plane gantry-control-plane.policy.hcl
#   nomad job run -var image=registry.example.com/platform/gantry:0.1.0 -var public_url=https://gantry.example.com jobspecs/gantry.nomad.hcl
#
# The control plane needs these Nomad capabilities on the workers' namespace (the policy above, attached
# to this job's workload identity, which the task receives as NOMAD_TOKEN):
#   namespace "default" { capabilities = ["submit-job", "read-job", "list-jobs", "scale-job", "read-job-scaling", "read-logs", "read-fs"] }
#   agent { policy = "read" }

variable "image" {
  type        = string
  description = "The control-plane image (docker/control-plane.Dockerfile)."
}

variable "public_url" {
  type        = string
  description = "The https:// URL workers and clients reach Gantry at (GANTRY_PUBLIC_URL)."
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "shared_volume" {
  type        = string
  default     = "gantry-files"
  description = "A client host volume (or CSI volume) on shared storage, mounted by every replica for files and volumes."
}

job "gantry" {
  type        = "service"
  datacenters = var.datacenters

  group "control-plane" {
    count = 3

    # One replica per node, so a node loss takes at most one replica.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    network {
      port "https" {
        to = 8443
      }
    }

    volume "files" {
      type      = "host"
      source    = var.shared_volume
      read_only = false
    }

    service {
      name     = "gantry"
      provider = "consul"
      port     = "https"
      tags     = ["gantry", "https"]

      # /health answers without a key; the certificate is Vault's, issued for gantry.service.consul.
      check {
        name            = "health"
        type            = "http"
        protocol        = "https"
        path            = "/health"
        interval        = "10s"
        timeout         = "3s"
        tls_server_name = "gantry.service.consul"
      }

      check_restart {
        limit = 3
        grace = "60s"
      }
    }

    update {
      max_parallel      = 1
      health_check      = "checks"
      min_healthy_time  = "15s"
      healthy_deadline  = "5m"
      progress_deadline = "10m"
      auto_revert       = true
    }

    restart {
      attempts = 3
      interval = "10m"
      delay    = "15s"
      mode     = "delay"
    }

    task "gantry" {
      driver = "docker"

      config {
        image = var.image
        args  = ["server"]
        ports = ["https"]
      }

      # A workload-identity token for Nomad's API (NOMAD_TOKEN), scoped by the policy attached above.
      identity {
        env = true
      }

      # Vault through workload identity: the role lets this job read its own secrets and issue its TLS
      # certificate (pki/issue/gantry), and write the workers' secrets (secret/data/<namespace>/gantry-*).
      vault {
        role        = "gantry-control-plane"
        change_mode = "restart"
      }

      volume_mount {
        volume      = "files"
        destination = "/var/lib/gantry"
      }

      # TLS from Vault's PKI, renewed by Nomad's template runner; a new certificate restarts the task.
      template {
        data        = <<-EOT
          {{ with pkiCert "pki/issue/gantry" "common_name=gantry.service.consul" "alt_names=localhost" (printf "ip_sans=127.0.0.1,%s" (env "NOMAD_IP_https")) "ttl=72h" }}{{ .Cert }}{{ .CA }}{{ end }}
        EOT
        destination = "secrets/tls/cert.pem"
        change_mode = "restart"
      }

      template {
        data        = <<-EOT
          {{ with pkiCert "pki/issue/gantry" "common_name=gantry.service.consul" "alt_names=localhost" (printf "ip_sans=127.0.0.1,%s" (env "NOMAD_IP_https")) "ttl=72h" }}{{ .Key }}{{ end }}
        EOT
        destination = "secrets/tls/key.pem"
        perms       = "0600"
        change_mode = "restart"
      }

      # The admin key and the Consul token come from Vault too; nothing secret is written in this file.
      template {
        data        = <<-EOT
          {{ with secret "secret/data/gantry/control-plane" }}
          GANTRY_ADMIN_KEY={{ .Data.data.admin_key | toJSON }}
          CONSUL_HTTP_TOKEN={{ .Data.data.consul_token | toJSON }}
          {{ end }}
        EOT
        destination = "secrets/gantry.env"
        env         = true
        change_mode = "restart"
      }

      env {
        GANTRY_HOST       = "0.0.0.0"
        GANTRY_PORT       = "8443"
        GANTRY_DATA_DIR   = "/var/lib/gantry"
        GANTRY_PUBLIC_URL = var.public_url
        # Where the other replicas forward queue, worker and direct-HTTP traffic while this one leads: this
        # allocation's own address (the public URL may lead to any replica). Its certificate carries the IP.
        GANTRY_ADVERTISE_URL = "https://${NOMAD_ADDR_https}"
        NODE_EXTRA_CA_CERTS  = "${NOMAD_SECRETS_DIR}/tls/cert.pem"
        GANTRY_TLS_CERT   = "${NOMAD_SECRETS_DIR}/tls/cert.pem"
        GANTRY_TLS_KEY    = "${NOMAD_SECRETS_DIR}/tls/key.pem"
        NOMAD_ADDR        = "https://${attr.unique.network.ip-address}:4646"
        NOMAD_CACERT      = "/etc/nomad.d/tls/ca.pem"
        CONSUL_HTTP_ADDR  = "https://${attr.unique.network.ip-address}:8501"
        VAULT_ADDR        = "https://vault.service.consul:8200"
      }

      resources {
        cpu    = 2000
        memory = 2048
      }

      kill_timeout = "30s"
      kill_signal  = "SIGTERM"
    }
  }
}
