{ ... }:
{
  avalanche.network = { hosts = [ "a" ]; };
}
