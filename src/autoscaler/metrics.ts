import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The autoscaler's metrics on `/metrics`, per deployment id. */
export interface AutoscalerMetrics {
  observe(deploymentId: string, values: { recommended: number; desired: number; draining: number }): void;
  scaled(deploymentId: string, direction: 'up' | 'down'): void;
  metricUnavailable(deploymentId: string): void;
  evaluated(seconds: number): void;
  forget(deploymentId: string): void;
}

export function registerAutoscalerMetrics(registry: Registry): AutoscalerMetrics {
  const labelNames = ['deployment_id'] as const;
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [registry] });
  const recommended = gauge('gantry_autoscaler_recommended_replicas', 'Replicas the policy asks for, after the min/max clamps');
  const desired = gauge('gantry_autoscaler_desired_replicas', 'Replicas the autoscaler aims the deployment at, after the scale-down window (a drain may still hold more)');
  const draining = gauge('gantry_autoscaler_draining_replicas', 'Replicas told to stop claiming before a scale-down');
  const decisions = new Counter({
    name: 'gantry_autoscaler_scale_total',
    help: 'Scale calls made by the autoscaler',
    labelNames: ['deployment_id', 'direction'] as const,
    registers: [registry],
  });
  const unavailable = new Counter({ name: 'gantry_autoscaler_metric_unavailable_total', help: 'Evaluations that kept the last count because the metric could not be read', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'gantry_autoscaler_evaluation_seconds',
    help: 'Time one deployment evaluation took',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    observe: (id, v) => {
      recommended.set({ deployment_id: id }, v.recommended);
      desired.set({ deployment_id: id }, v.desired);
      draining.set({ deployment_id: id }, v.draining);
    },
    scaled: (id, direction) => decisions.inc({ deployment_id: id, direction }),
    metricUnavailable: (id) => unavailable.inc({ deployment_id: id }),
    evaluated: (seconds) => duration.observe(seconds),
    forget: (id) => {
      for (const g of [recommended, desired, draining]) g.remove({ deployment_id: id });
    },
  };
}
