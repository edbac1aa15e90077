//! Values whose encoding differs per backend. Domain enums as database values: stored as their lower-case names in TEXT columns on both
//! backends, decoded strictly, so a row with an unknown status or role is an error when it is
//! read, never a silent default. The domain itself knows nothing of sqlx.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo};
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};
use time::{Date, OffsetDateTime, Time};

use crate::domain::{OrderStatus, Role};

macro_rules! text_enum {
    ($t:ty) => {
        impl<DB: Database> Type<DB> for $t
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $t
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&'r str as Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$t>()?)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $t
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                let text: &'q str = self.as_str();
                <&'q str as Encode<'q, DB>>::encode_by_ref(&text, buf)
            }
        }
    };
}

text_enum!(OrderStatus);
text_enum!(Role);

/// An instant, to the second, as a bound on a time column (`at >= bound`, `at < bound`): the
/// start of a day in the display zone, for example, which is midnight UTC only in UTC.
///
/// On PostgreSQL it is a TIMESTAMPTZ. On SQLite, where times are RFC 3339 UTC text whose fraction
/// of a second varies in length (`...:05Z`, `...:05.25Z`), it is the fixed-width prefix
/// `YYYY-MM-DDTHH:MM:SS`: every stored time from that second on sorts at or above it and every
/// earlier one below, so `at >= bound` and `at < bound` are exact on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBound(OffsetDateTime);

impl TimeBound {
    /// The bound at `t`, in UTC, to the whole second (any fraction is dropped).
    pub fn at(t: OffsetDateTime) -> TimeBound {
        let utc = t.to_offset(time::UtcOffset::UTC);
        TimeBound(utc.replace_nanosecond(0).unwrap_or(utc))
    }

    /// Midnight UTC at the start of day `d` (the charts count days in UTC).
    pub fn utc_day_start(d: Date) -> TimeBound {
        TimeBound(d.with_time(Time::MIDNIGHT).assume_utc())
    }

    /// The bound as an instant.
    pub fn instant(self) -> OffsetDateTime {
        self.0
    }

    fn sqlite_text(self) -> String {
        let t = self.0;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Type<Postgres> for TimeBound {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for TimeBound {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<Postgres>>::encode(self.instant(), buf)
    }
}

impl Type<Sqlite> for TimeBound {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for TimeBound {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.sqlite_text(), buf)
    }
}
