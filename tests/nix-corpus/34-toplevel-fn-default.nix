{ port ? 8080, ... }:
{
  inherit port;
  url = "http://h:${"p"}";
}
