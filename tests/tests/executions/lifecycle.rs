//! Restart, expiry, concurrency, tenants.
