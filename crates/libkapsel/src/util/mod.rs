//! Small helpers with no container knowledge.

pub(crate) mod fault;
pub(crate) mod idlist;
pub(crate) mod time;
pub(crate) mod unixsock;
