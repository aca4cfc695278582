//! Browser peer (see issue 4).
