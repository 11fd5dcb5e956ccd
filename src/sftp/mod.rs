//! SFTP client: connections with verified host keys, listings, pipelined transfers.
