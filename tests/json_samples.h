/* SPDX-License-Identifier: MIT */
/*
 * Sample envelopes shared by the src/envelope tests. HMQ_SEED_EXAMPLE is the
 * example message of High Mobility's "MQTT V2" documentation, verbatim
 * (indentation and the final newline included).
 */
#ifndef HMQ_TESTS_JSON_SAMPLES_H
#define HMQ_TESTS_JSON_SAMPLES_H

#define HMQ_SEED_MESSAGE_ID "4F02FFB01650060FA8888E5C3ED46FF2A0E4A49EACF1A92E264CD0C137971B28"

/* clang-format off */
static const char HMQ_SEED_EXAMPLE[] =
  "{\n"
  "  \"version\": 2,\n"
  "  \"application_id\": \"00000000-0000-0000-0000-000000000000\",\n"
  "  \"message_id\": \"4F02FFB01650060FA8888E5C3ED46FF2A0E4A49EACF1A92E264CD0C137971B28\",\n"
  "  \"vin\": \"EXV10000000\",\n"
  "  \"data\": {\n"
  "    \"diagnostics\": {\n"
  "      \"odometer\": [\n"
  "        {\n"
  "          \"data\": {\n"
  "            \"unit\": \"kilometers\",\n"
  "            \"value\": 19201.01\n"
  "          }\n"
  "        }\n"
  "      ]\n"
  "    },\n"
  "    \"vehicle_location\": {\n"
  "      \"altitude\": [\n"
  "        {\n"
  "          \"data\": {\n"
  "            \"unit\": \"meters\",\n"
  "            \"value\": 63\n"
  "          },\n"
  "          \"timestamp\": \"2025-08-12T16:07:48.000Z\"\n"
  "        }\n"
  "      ],\n"
  "      \"coordinates\": [\n"
  "        {\n"
  "          \"data\": {\n"
  "            \"latitude\": 11.572,\n"
  "            \"longitude\": 8.487\n"
  "          },\n"
  "          \"timestamp\": \"2025-08-12T16:07:48.000Z\"\n"
  "        }\n"
  "      ]\n"
  "    }\n"
  "  }\n"
  "}\n"
  ;
/* clang-format on */

#endif
