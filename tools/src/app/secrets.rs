//! Loading secrets: an untracked `.env` in the working directory (the `dotenvy` crate) adds to
//! the environment, never overriding a variable already set. The values are then read as
//! [`Secret`](mia_runtime::secret::Secret)s, which never print. `.env.example` in the
//! repository lists every variable; `.gitignore` keeps `.env` out of commits.
//!
//! | variable | used by |
//! |---|---|
//! | `MIA_IBKR_ACCOUNT` | IBKR: the account orders go to, checked against the Gateway's managed accounts |
//! | `MIA_DTC_ACCOUNT` | Sierra Chart DTC: the trade account |
//! | `MIA_DISCORD_WEBHOOK_*` | monitoring: one webhook URL per channel |

use anyhow::{Context, Result};

/// Loads `./.env` if present (variables already in the environment win).
///
/// # Errors
/// The file exists but is malformed (the error names the file and line; no value is shown).
pub fn load_dotenv() -> Result<()> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(dotenvy::Error::LineParse(_, idx)) => {
            Err(anyhow::anyhow!(".env: cannot parse the line at character {idx} (its content is not shown)"))
        }
        Err(e) => Err(e).context(".env: cannot read"),
    }
}
