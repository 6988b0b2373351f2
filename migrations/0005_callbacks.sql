-- Callbacks: where a finished job is POSTed, and the state of that delivery (JSON).
ALTER TABLE jobs ADD COLUMN callback_url TEXT;
ALTER TABLE jobs ADD COLUMN failure_callback_url TEXT;
ALTER TABLE jobs ADD COLUMN callback_state TEXT;
