//! [`Builder`]: a pool with a put-time policy.

use crate::policy::{Hooks, Verdict};
use crate::Pool;

/// Configures a [`Pool`] before it is built: [`Pool::builder`] … [`build`](Builder::build).
///
/// ```
/// use gcpool::Pool;
///
/// let pool = Pool::builder(String::new).reset(String::clear).build();
/// let mut s = pool.get();
/// s.push_str("secret");
/// drop(s);                       // reset runs here, before the string is pooled
/// assert_eq!(pool.get().as_str(), "");
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder<T> {
    factory: Box<dyn Fn() -> T + Send + Sync>,
    reset: Option<ResetFn<T>>,
}

/// A reset hook.
type ResetFn<T> = Box<dyn Fn(&mut T) + Send + Sync>;

impl<T: Send + 'static> Pool<T> {
    /// Starts configuring a pool whose factory is `factory`.
    pub fn builder(factory: impl Fn() -> T + Send + Sync + 'static) -> Builder<T> {
        Builder {
            factory: Box::new(factory),
            reset: None,
        }
    }
}

impl<T: Send + 'static> Builder<T> {
    /// Runs `reset` on every object passed to `put`, before it is pooled (the seed article's
    /// "cleanup before put back"), so that no data leaks from one user to the next.
    pub fn reset(mut self, reset: impl Fn(&mut T) + Send + Sync + 'static) -> Self {
        self.reset = Some(Box::new(reset));
        self
    }

    /// Builds the pool.
    pub fn build(self) -> Pool<T> {
        let hooks = self
            .reset
            .map(|reset| Box::new(Reset(reset)) as Box<dyn Hooks<T>>);
        Pool::from_parts(self.factory, hooks)
    }
}

struct Reset<T>(ResetFn<T>);

impl<T> Hooks<T> for Reset<T> {
    fn on_put(&self, value: &mut T, _slot: usize) -> Verdict {
        (self.0)(value);
        Verdict::Keep
    }
}
