// Forwarding header: the configuration moved to server/config/config.h. Kept only for
// server/config_yaml.cc, which is moving to util/ on another branch; include the new path.
#ifndef EMBER_SERVER_CONFIG_H_
#define EMBER_SERVER_CONFIG_H_

#include "server/config/config.h"  // IWYU pragma: export

#endif  // EMBER_SERVER_CONFIG_H_
