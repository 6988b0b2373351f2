-- W3C trace context of each job (docs/protocol.md, section 1.10): the traceparent it was submitted
-- with (version 00), or the one the API started for it, and the caller's tracestate. Dispatch hands
-- both to the node, whose spans are children of it. Jobs from before this migration have neither.
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
ALTER TABLE jobs ADD COLUMN tracestate TEXT;
