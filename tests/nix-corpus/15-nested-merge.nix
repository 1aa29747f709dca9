{
  services.web.port = 80;
  services.web.host = "a";
  services.db = { port = 5432; };
  services.db.user = "pg";
  services.cache.opts.ttl = 60;
  services.cache.opts.size = 10;
}
