-- Indexes for the platform's hot paths: foreign keys (PostgreSQL does not index them itself), the
-- renewal job's scan, dunning, and per-customer history pages.

CREATE INDEX subscriptions_customer_id_idx ON subscriptions (customer_id);
CREATE INDEX subscriptions_plan_id_idx ON subscriptions (plan_id);
-- the renewal job: active subscriptions whose period ends soon
CREATE INDEX subscriptions_renewal_idx ON subscriptions (current_period_end)
    WHERE status IN ('active', 'trialing', 'past_due');
-- at most one live subscription per customer and plan
CREATE UNIQUE INDEX subscriptions_one_live_per_plan_key ON subscriptions (customer_id, plan_id)
    WHERE status NOT IN ('canceled', 'incomplete');

CREATE INDEX invoices_customer_created_idx ON invoices (customer_id, created_at DESC);
CREATE INDEX invoices_subscription_id_idx ON invoices (subscription_id);
-- dunning: open invoices past their due date
CREATE INDEX invoices_open_due_idx ON invoices (due_at) WHERE status = 'open';

CREATE INDEX invoice_lines_invoice_id_idx ON invoice_lines (invoice_id);
CREATE INDEX invoice_lines_plan_id_idx ON invoice_lines (plan_id);

CREATE INDEX payments_invoice_id_idx ON payments (invoice_id);
CREATE INDEX payments_customer_created_idx ON payments (customer_id, created_at DESC);
