//! PingOne - Registration and MFA Enrollment (with the Device Registration sub-flow) and Registration and MFA Auto-Enrollment.
