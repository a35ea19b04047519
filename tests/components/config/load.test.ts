import { installMocks } from "../../helpers/pulumiMocks";
// As `pulumi config set` leaves them: dbPassword and sshPrivateKey without --secret, redisPassword with it.
installMocks(
    {
        adminAllowlist: '["192.0.2.0/24"]',
        dbPassword: "plain-text-password",
        redisPassword: "encrypted-redis-pw",
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nplain-key-body\n-----END OPENSSH PRIVATE KEY-----\n",
    },
    "prod",
    ["redisPassword"],
);

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { loadClusterConfig, plainTextSecretKeys } from "../../../components/config/load";
import { ConfigError } from "../../../components/config/validate";

describe("loadClusterConfig (under the unit-test mocks)", () => {
    it("tells secret keys set without --secret from encrypted ones (the SDK's list of secret config keys)", () => {
        assert.deepEqual(plainTextSecretKeys("bitrix-cluster"), ["sshPrivateKey", "dbPassword"]);
    });

    it("refuses them before any resource exists, giving the command that encrypts each and never its value", () => {
        assert.throws(loadClusterConfig, (e: ConfigError) => {
            const text = e.problems.join("\n");
            assert.match(
                text,
                /bitrix-cluster:dbPassword: set without --secret, so it sits unencrypted in Pulumi\.prod\.yaml; encrypt it: pulumi config set --secret --stack prod bitrix-cluster:dbPassword/,
            );
            assert.match(
                text,
                /bitrix-cluster:sshPrivateKey: set without --secret.*pulumi config set --secret --stack prod bitrix-cluster:sshPrivateKey < ~\/\.ssh\/id_ed25519/,
            );
            assert.doesNotMatch(text, /redisPassword|plain-text-password|plain-key-body/);
            return true;
        });
    });
});
