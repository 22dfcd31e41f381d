-- Invoices and their lines. Totals are stored (not only derived) because an issued invoice is a legal
-- document: later plan or tax changes must not change it. A check keeps the stored total consistent.

CREATE TABLE invoices (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number           text        NOT NULL UNIQUE,              -- human-facing, e.g. 'INV-2026-000123'
    customer_id      bigint      NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    subscription_id  bigint      REFERENCES subscriptions (id) ON DELETE SET NULL,
    status           text        NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    currency         char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal         numeric(12, 2) NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
    tax              numeric(12, 2) NOT NULL DEFAULT 0 CHECK (tax >= 0),
    total            numeric(12, 2) GENERATED ALWAYS AS (subtotal + tax) STORED,
    amount_paid      numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    period_start     timestamptz,
    period_end       timestamptz,
    issued_at        timestamptz,
    due_at           timestamptz,
    paid_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_paid_has_date CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    CONSTRAINT invoices_due_after_issue CHECK (due_at IS NULL OR issued_at IS NULL OR due_at >= issued_at)
);

CREATE TABLE invoice_lines (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id       bigint      NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    description      text        NOT NULL,
    plan_id          bigint      REFERENCES plans (id) ON DELETE SET NULL,
    quantity         integer     NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_amount      numeric(12, 2) NOT NULL,                  -- negative for credits and discounts
    amount           numeric(12, 2) GENERATED ALWAYS AS (quantity * unit_amount) STORED,
    period_start     timestamptz,
    period_end       timestamptz,
    proration        boolean     NOT NULL DEFAULT false
);
