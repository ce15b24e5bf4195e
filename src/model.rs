//! Types that cross the wire between the server and the browser.

mod audit;
mod role;
mod sandbox;
mod session;
mod time_fmt;

pub use audit::{AuditAction, Interface, category};
pub use role::{Permission, Role};
pub use sandbox::{DisableReason, SandboxPage, SandboxTokenView, Subscription, TokenStatus, mask};
pub use session::{OrgSummary, Viewer};
pub use time_fmt::format_timestamp;
