-- Core billing entities: customers and the plans they subscribe to.
-- Money is numeric(12,2) in the plan's currency (ISO 4217 code); never floating point.

CREATE TABLE customers (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_ref       text        NOT NULL UNIQUE,            -- the payment provider's customer id
    email              text        NOT NULL,
    name               text        NOT NULL,
    country_code       char(2),
    default_currency   char(3)     NOT NULL DEFAULT 'USD' CHECK (default_currency ~ '^[A-Z]{3}$'),
    tax_exempt         boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    CONSTRAINT customers_email_format CHECK (position('@' in email) > 1)
);

CREATE UNIQUE INDEX customers_email_active_key ON customers (lower(email)) WHERE deleted_at IS NULL;

CREATE TABLE plans (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code               text        NOT NULL UNIQUE,            -- e.g. 'pro-monthly'
    name               text        NOT NULL,
    currency           char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    unit_amount        numeric(12, 2) NOT NULL CHECK (unit_amount >= 0),
    billing_interval   text        NOT NULL CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
    interval_count     smallint    NOT NULL DEFAULT 1 CHECK (interval_count BETWEEN 1 AND 36),
    trial_days         smallint    NOT NULL DEFAULT 0 CHECK (trial_days >= 0),
    active             boolean     NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id            bigint      NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    plan_id                bigint      NOT NULL REFERENCES plans (id) ON DELETE RESTRICT,
    status                 text        NOT NULL DEFAULT 'trialing'
        CHECK (status IN ('trialing', 'active', 'past_due', 'paused', 'canceled', 'incomplete')),
    quantity               integer     NOT NULL DEFAULT 1 CHECK (quantity > 0),
    current_period_start   timestamptz NOT NULL,
    current_period_end     timestamptz NOT NULL,
    trial_end              timestamptz,
    cancel_at_period_end   boolean     NOT NULL DEFAULT false,
    canceled_at            timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_period_order CHECK (current_period_end > current_period_start),
    CONSTRAINT subscriptions_canceled_has_date CHECK (status <> 'canceled' OR canceled_at IS NOT NULL)
);
