import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The agent's Prometheus metrics, on their own registry (several agents can live in one process). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly slots = new Gauge({ name: 'visionq_agent_slots', help: 'Job slots of this agent', registers: [this.registry] });
  readonly running = new Gauge({ name: 'visionq_agent_running_jobs', help: 'Jobs running now', registers: [this.registry] });
  readonly draining = new Gauge({ name: 'visionq_agent_draining', help: '1 when the agent takes no more jobs', registers: [this.registry] });
  readonly natsConnected = new Gauge({ name: 'visionq_agent_nats_connected', help: '1 when connected to NATS', registers: [this.registry] });
  readonly jobs = new Counter({
    name: 'visionq_agent_jobs_total',
    help: 'Finished attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly heartbeats = new Counter({ name: 'visionq_agent_heartbeats_total', help: 'working() acks sent', registers: [this.registry] });
  readonly duration = new Histogram({
    name: 'visionq_agent_attempt_duration_seconds',
    help: 'Duration of attempts',
    labelNames: ['outcome'] as const,
    buckets: [1, 10, 60, 300, 900, 1800, 3600, 7200, 14400],
    registers: [this.registry],
  });
}
