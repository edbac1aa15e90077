//! Domain enums as database values: stored as their lower-case names in TEXT columns on both
//! backends, decoded strictly, so a row with an unknown status or role is an error when it is
//! read, never a silent default. The domain itself knows nothing of sqlx.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

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
