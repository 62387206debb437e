//! Argument specs of the modules the engine runs itself.
