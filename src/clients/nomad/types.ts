/**
 * The parts of Nomad's job, allocation, evaluation and deployment JSON that Gantry writes or reads, with
 * the field names of Nomad's Go `api` package (hashicorp.md §1.3, §1.5, §1.6). Every duration is an
 * integer of nanoseconds.
 */

/** Nanoseconds, as every `time.Duration` in Nomad's JSON. */
export type Nanoseconds = number;

export interface Constraint {
  LTarget: string;
  RTarget: string;
  Operand: string;
}

export interface RequestedDevice {
  Name: string;
  Count: number;
  Constraints?: Constraint[];
}

export interface Resources {
  CPU?: number;
  Cores?: number;
  MemoryMB: number;
  Devices?: RequestedDevice[];
}

export interface Port {
  Label: string;
  Value?: number;
  To?: number;
}

export interface NetworkResource {
  Mode: string;
  DynamicPorts: Port[];
}

export interface ServiceCheck {
  Name: string;
  Type: 'http' | 'tcp';
  Path: string;
  PortLabel: string;
  Interval: Nanoseconds;
  Timeout: Nanoseconds;
}

export interface Service {
  Name: string;
  Provider: 'consul' | 'nomad';
  PortLabel: string;
  Tags: string[];
  Meta: Record<string, string>;
  Checks: ServiceCheck[];
}

export interface Template {
  EmbeddedTmpl: string;
  DestPath: string;
  Envvars: boolean;
  ChangeMode: 'restart' | 'noop' | 'signal' | 'script';
}

export interface Vault {
  Role?: string;
  ChangeMode: 'restart' | 'noop' | 'signal';
}

export interface TaskArtifact {
  GetterSource: string;
  GetterMode: 'any' | 'file' | 'dir';
  GetterOptions?: Record<string, string>;
  RelativeDest: string;
}

export interface Task {
  Name: string;
  Driver: string;
  Config: Record<string, unknown>;
  Env: Record<string, string>;
  Resources: Resources;
  Vault?: Vault;
  Templates?: Template[];
  Artifacts?: TaskArtifact[];
  KillTimeout: Nanoseconds;
  KillSignal: string;
  LogConfig?: { MaxFiles: number; MaxFileSizeMB: number };
  Meta?: Record<string, string>;
}

export interface UpdateStrategy {
  MaxParallel: number;
  HealthCheck: 'checks' | 'task_states' | 'manual';
  MinHealthyTime: Nanoseconds;
  HealthyDeadline: Nanoseconds;
  ProgressDeadline: Nanoseconds;
  AutoRevert: boolean;
  AutoPromote: boolean;
  Canary: number;
  Stagger: Nanoseconds;
}

export interface RestartPolicy {
  Attempts: number;
  Interval: Nanoseconds;
  Delay: Nanoseconds;
  Mode: 'fail' | 'delay';
}

export interface ReschedulePolicy {
  Attempts: number;
  Interval: Nanoseconds;
  Delay: Nanoseconds;
  DelayFunction: 'constant' | 'exponential' | 'fibonacci';
  MaxDelay: Nanoseconds;
  Unlimited: boolean;
}

export interface ScalingPolicy {
  Enabled: boolean;
  Min: number;
  Max: number;
  Type: 'horizontal';
  Policy: Record<string, unknown>;
}

export interface TaskGroup {
  Name: string;
  Count: number;
  Scaling?: ScalingPolicy;
  Constraints?: Constraint[];
  Networks: NetworkResource[];
  Services: Service[];
  Update: UpdateStrategy;
  RestartPolicy: RestartPolicy;
  ReschedulePolicy: ReschedulePolicy;
  EphemeralDisk: { SizeMB: number; Sticky: boolean; Migrate: boolean };
  Tasks: Task[];
  Meta?: Record<string, string>;
}

export interface Job {
  ID: string;
  Name: string;
  Namespace: string;
  Region: string;
  Type: 'service' | 'batch' | 'system' | 'sysbatch';
  Priority: number;
  Datacenters: string[];
  NodePool?: string;
  Constraints: Constraint[];
  Meta: Record<string, string>;
  TaskGroups: TaskGroup[];
  // Set by the server:
  Stop?: boolean;
  Status?: string;
  Version?: number;
  CreateIndex?: number;
  ModifyIndex?: number;
  JobModifyIndex?: number;
  SubmitTime?: number;
}

export interface JobRegisterRequest {
  Job: Job;
  EnforceIndex?: boolean;
  JobModifyIndex?: number;
  PreserveCounts?: boolean;
}

export interface JobRegisterResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings: string;
}

export interface JobListStub {
  ID: string;
  Name: string;
  Namespace: string;
  Status: string;
  Stop: boolean;
  JobModifyIndex: number;
  ModifyIndex: number;
  Meta?: Record<string, string> | null;
}

export interface ScalingRequest {
  Count: number;
  Target: { Group: string; Job?: string; Namespace?: string };
  Message?: string;
  JobModifyIndex?: number;
}

export interface TaskEvent {
  Type: string;
  Time: number;
  DisplayMessage?: string;
  Message?: string;
  Details?: Record<string, string>;
}

export interface TaskState {
  State: 'pending' | 'running' | 'dead';
  Failed: boolean;
  Restarts: number;
  LastRestart: string | null;
  StartedAt: string | null;
  FinishedAt: string | null;
  Events: TaskEvent[];
}

export type ClientStatus = 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';

export interface AllocDeploymentStatus {
  Healthy: boolean | null;
  Timestamp: string;
  Canary?: boolean;
}

export interface AllocListStub {
  ID: string;
  EvalID: string;
  Name: string;
  Namespace: string;
  NodeID: string;
  NodeName: string;
  JobID: string;
  JobVersion: number;
  TaskGroup: string;
  DesiredStatus: 'run' | 'stop' | 'evict';
  ClientStatus: ClientStatus;
  ClientDescription?: string;
  TaskStates: Record<string, TaskState> | null;
  DeploymentStatus: AllocDeploymentStatus | null;
  NextAllocation?: string;
  DeploymentID?: string;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

export interface AllocatedPort {
  Label: string;
  Value: number;
  To: number;
  HostIP: string;
}

export interface Allocation extends AllocListStub {
  AllocatedResources?: { Shared?: { Ports?: AllocatedPort[] } } | null;
  Job?: Job;
}

export interface AllocationMetric {
  NodesEvaluated: number;
  NodesFiltered: number;
  NodesExhausted: number;
  ConstraintFiltered?: Record<string, number> | null;
  DimensionExhausted?: Record<string, number> | null;
  ClassFiltered?: Record<string, number> | null;
}

export interface Evaluation {
  ID: string;
  JobID: string;
  Namespace: string;
  Status: 'pending' | 'blocked' | 'complete' | 'failed' | 'canceled';
  StatusDescription?: string;
  TriggeredBy: string;
  DeploymentID?: string;
  FailedTGAllocs?: Record<string, AllocationMetric> | null;
  QueuedAllocations?: Record<string, number> | null;
  BlockedEval?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface Deployment {
  ID: string;
  JobID: string;
  JobVersion: number;
  Status: 'running' | 'paused' | 'failed' | 'successful' | 'cancelled' | 'initializing' | 'pending' | 'blocked' | 'unblocking';
  StatusDescription: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** One frame of the client fs logs stream (`plain=false`); a heartbeat is `{}`. */
export interface StreamFrame {
  Offset?: number;
  Data?: string;
  File?: string;
  FileEvent?: string;
}

/** Deployment states in which Nomad refuses a scale (hashicorp.md §1.7). */
export const ACTIVE_DEPLOYMENT_STATES: ReadonlySet<Deployment['Status']> = new Set(['running', 'paused', 'initializing', 'pending', 'blocked', 'unblocking']);
