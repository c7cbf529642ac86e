//! PingOne - Sign on and MFA (with the MFA Authentication sub-flow) and Sign on and Adaptive MFA.
