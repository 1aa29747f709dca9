{ config, lib, pkgs ? null, ... }:
{
  x = 1;
}
