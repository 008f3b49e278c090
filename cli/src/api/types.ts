/** Wire shapes the CLI reads (compat.md §5); every field optional, as in the vendor's SDK types. */

export interface EnvironmentVariable {
  name: string;
  value?: string;
  value_from_secret?: string;
}

export interface ReplicaEvent {
  image?: string;
  revision_id?: string;
  replica_status?: string;
  replica_status_reason?: string;
  replica_status_message?: string;
  replica_ready_since?: string;
  volume_preload_status?: string;
  volume_preload_started_at?: string;
  volume_preload_completed_at?: string;
}

export interface Deployment {
  id?: string;
  name?: string;
  description?: string;
  image?: string;
  status?: string;
  created_at?: string;
  updated_at?: string;
  min_replicas?: number;
  max_replicas?: number;
  desired_replicas?: number;
  ready_replicas?: number;
  gpu_type?: string;
  gpu_count?: number;
  cpu?: number;
  memory?: number;
  storage?: number;
  port?: number;
  health_check_path?: string;
  command?: string[];
  args?: string[];
  environment_variables?: EnvironmentVariable[];
  volumes?: Array<{ name: string; mount_path: string; version?: number }>;
  autoscaling?: Record<string, unknown>;
  replica_events?: Record<string, ReplicaEvent>;
}

export interface Volume {
  id?: string;
  name?: string;
  current_version?: number;
  created_at?: string;
  updated_at?: string;
  [key: string]: unknown;
}

export interface Secret {
  id?: string;
  name?: string;
  description?: string;
}

export interface List<T> {
  object?: 'list';
  data?: T[];
}

export interface SignedUrl {
  url: string;
  method: string;
  headers?: Record<string, string>;
}
