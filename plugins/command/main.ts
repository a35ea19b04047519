/** Offline stand-in for the `command` plugin (see README, "Offline plugins"): local commands only so far. */
import { pinnedVersion, serve } from "../provider";
import { localCommand } from "./local";

serve(pinnedVersion("@pulumi/command"), [localCommand]);
