//! Who may do what: roles, permissions and user names.

use std::fmt;

/// A user's role. Checked on the server for every action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Clerk,
    Warehouse,
    Accountant,
    Admin,
}

/// Something a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    ViewOrders,
    /// Create orders and change the lines of drafts.
    EditOrders,
    ConfirmOrders,
    ViewStock,
    ViewInvoices,
    ViewMasterData,
    /// Record goods received into stock.
    ReceiveStock,
    ManageUsers,
    /// Create and edit customers and products, deactivate and reactivate them.
    ManageMasterData,
    /// Ask to cancel an order at all; what may be cancelled depends on its state
    /// ([`Permission::EditOrders`] for a draft, [`Permission::CreditInvoices`] once invoiced).
    CancelOrders,
    /// Cancel a confirmed order with a credit note.
    CreditInvoices,
    /// Read the audit log.
    ViewAudit,
    /// Set the seller's details printed on invoices (name, address, VAT id, bank, terms).
    ManageCompany,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Clerk, Role::Warehouse, Role::Accountant, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "clerk" => Some(Role::Clerk),
            "warehouse" => Some(Role::Warehouse),
            "accountant" => Some(Role::Accountant),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Warehouse => "warehouse",
            Role::Accountant => "accountant",
            Role::Admin => "admin",
        }
    }

    /// The permission table. Admins can do everything, master data included; clerks work
    /// orders and cancel drafts; the warehouse sees orders and stock and records goods received;
    /// accountants see orders, stock and invoices, cancel confirmed orders with a credit note and
    /// read the audit log. Nobody but a clerk or an admin changes or confirms an order.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Clerk => matches!(
                p,
                ViewOrders
                    | EditOrders
                    | ConfirmOrders
                    | CancelOrders
                    | ViewStock
                    | ViewInvoices
                    | ViewMasterData
            ),
            Role::Warehouse => matches!(p, ViewOrders | ViewStock | ViewMasterData | ReceiveStock),
            Role::Accountant => matches!(
                p,
                ViewOrders
                    | ViewStock
                    | ViewInvoices
                    | ViewMasterData
                    | CancelOrders
                    | CreditInvoices
                    | ViewAudit
            ),
        }
    }
}

/// A stored role text that names no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role (clerk, warehouse, accountant or admin)")]
pub struct UnknownRole(pub String);

/// The exact stored name; [`Role::parse`] is the lenient reading of what a person typed.
impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

impl Permission {
    /// What the permission lets one do, for messages: "confirm orders".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ViewOrders => "view orders",
            Permission::EditOrders => "create and change orders",
            Permission::ConfirmOrders => "confirm orders",
            Permission::ViewStock => "view stock",
            Permission::ViewInvoices => "view invoices",
            Permission::ViewMasterData => "view customers and products",
            Permission::ReceiveStock => "record goods receipts",
            Permission::ManageUsers => "manage users",
            Permission::ManageMasterData => "manage customers and products",
            Permission::CancelOrders => "cancel orders",
            Permission::CreditInvoices => "cancel confirmed orders with a credit note",
            Permission::ViewAudit => "read the audit log",
            Permission::ManageCompany => "set the company details",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performs an operation: a signed-in user, an API token's user, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    /// The sign-in name, as the audit trail, the ledger and documents record it.
    pub username: String,
    pub role: Role,
}

impl Actor {
    /// The operator at the shell (`orderdesk user add`, ...): every permission, no account.
    pub fn command_line() -> Actor {
        Actor {
            user_id: 0,
            username: "cli".into(),
            role: Role::Admin,
        }
    }
}

/// A sign-in name: 2 to 32 characters of a-z, 0-9, `.`, `_` and `-`, compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a user name has 2 to 32 characters")]
    Length,
    #[error("a user name uses only letters a-z, digits, '.', '_' and '-'")]
    BadCharacter,
}

impl Username {
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let s = input.trim().to_ascii_lowercase();
        if !(2..=32).contains(&s.chars().count()) {
            return Err(UsernameError::Length);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(UsernameError::BadCharacter);
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 10 to 200 characters. Never logged, never in argv.
pub struct NewPassword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least 10 characters")]
    TooShort,
    #[error("a password has at most 200 characters")]
    TooLong,
}

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let n = input.chars().count();
        if n < 10 {
            Err(PasswordError::TooShort)
        } else if n > 200 {
            Err(PasswordError::TooLong)
        } else {
            Ok(NewPassword(input.to_string()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_table() {
        assert!(Role::Clerk.can(Permission::ConfirmOrders));
        assert!(!Role::Clerk.can(Permission::ManageUsers));
        assert!(!Role::Warehouse.can(Permission::ConfirmOrders));
        assert!(!Role::Warehouse.can(Permission::ViewInvoices));
        assert!(Role::Warehouse.can(Permission::ViewStock));
        assert!(Role::Warehouse.can(Permission::ReceiveStock));
        assert!(!Role::Clerk.can(Permission::ReceiveStock));
        assert!(!Role::Accountant.can(Permission::ReceiveStock));
        assert!(!Role::Accountant.can(Permission::EditOrders));
        assert!(Role::Accountant.can(Permission::ViewInvoices));
        assert!(Role::Admin.can(Permission::ManageUsers));
        assert!(Role::Admin.can(Permission::ManageMasterData));
        assert!(!Role::Clerk.can(Permission::ManageMasterData));
        assert!(Role::Clerk.can(Permission::CancelOrders));
        assert!(!Role::Clerk.can(Permission::CreditInvoices));
        assert!(Role::Accountant.can(Permission::CreditInvoices));
        assert!(Role::Accountant.can(Permission::ViewAudit));
        assert!(!Role::Clerk.can(Permission::ViewAudit));
        assert!(!Role::Warehouse.can(Permission::CancelOrders));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            " Admin".parse::<Role>().ok(),
            None,
            "stored names are exact"
        );
        assert_eq!("admin".parse::<Role>().ok(), Some(Role::Admin));
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        assert_eq!(Username::parse("a"), Err(UsernameError::Length));
        assert_eq!(Username::parse("al ice"), Err(UsernameError::BadCharacter));
        assert_eq!(
            Username::parse("<script>"),
            Err(UsernameError::BadCharacter)
        );
    }

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough pass").is_ok());
        assert!(NewPassword::parse(&"x".repeat(201)).is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret secret").unwrap()),
            "NewPassword(..)"
        );
    }
}
