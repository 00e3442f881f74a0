-- betrue jobs: one row per job, one row per cron tick taken. {schema} is the queue's schema.
CREATE TABLE {schema}.betrue_jobs (
    id           text PRIMARY KEY,
    queue        text NOT NULL,
    code         text NOT NULL,
    params       jsonb NOT NULL,
    meta         jsonb NOT NULL DEFAULT '{{}}',
    key          text,
    priority     integer NOT NULL DEFAULT 0,
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead', 'cancelled')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempt      integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    timeout      double precision,
    lease_until  timestamptz,
    last_error   text,
    result       jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
-- dedupe: one job per key while it is queued, waiting for a retry, or running
CREATE UNIQUE INDEX betrue_jobs_key ON {schema}.betrue_jobs (queue, key)
    WHERE key IS NOT NULL AND state IN ('queued', 'failed', 'running');
-- claims: the due jobs of a queue, highest priority first
CREATE INDEX betrue_jobs_due ON {schema}.betrue_jobs (queue, priority DESC, run_at)
    WHERE state IN ('queued', 'failed');
-- leases that ran out
CREATE INDEX betrue_jobs_leases ON {schema}.betrue_jobs (queue, lease_until) WHERE state = 'running';
-- listing by state, and the purge of old results
CREATE INDEX betrue_jobs_state ON {schema}.betrue_jobs (queue, state, created_at);
CREATE TABLE {schema}.betrue_job_ticks (
    queue      text NOT NULL,
    schedule   text NOT NULL,
    tick       bigint NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, schedule, tick)
);
