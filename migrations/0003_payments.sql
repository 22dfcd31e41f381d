-- Payments against invoices, one row per attempt; the provider's id makes webhook retries idempotent.

CREATE TABLE payments (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id        bigint      NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    customer_id       bigint      NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    provider          text        NOT NULL DEFAULT 'stripe',
    provider_ref      text        NOT NULL,                    -- e.g. the PaymentIntent id
    status            text        NOT NULL
        CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'partially_refunded')),
    currency          char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount            numeric(12, 2) NOT NULL CHECK (amount > 0),
    amount_refunded   numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    failure_code      text,
    failure_message   text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    succeeded_at      timestamptz,
    CONSTRAINT payments_provider_ref_key UNIQUE (provider, provider_ref),
    CONSTRAINT payments_refund_not_above_amount CHECK (amount_refunded <= amount)
);
