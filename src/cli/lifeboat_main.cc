// lifeboat: the release executable. Everything is in cli::Main (main.cc); nothing here, and
// nothing in the libraries, reads test settings from the environment (doc/design.md, "Test
// settings").
#include "cli/common.h"

int main(int argc, char** argv) { return lifeboat::cli::Main(argc, argv); }
