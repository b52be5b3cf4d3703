//! Executing a plan: the dispatcher, one task attempt, retries, and the events they emit.
