// POST /models: a new catalog id and the Hugging Face config.json that describes it.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsPlainObject } from '../../common/validators';

export class CreateModelDto {
  @ApiProperty({ description: 'lowercase slug, unique in the catalog', example: 'my-model' })
  @IsDefined({ message: "id is required: a lowercase slug such as 'my-model'" })
  @IsString({ message: "id must be a lowercase slug such as 'my-model'" })
  @MaxLength(100, { message: 'id must be at most 100 characters' })
  @Matches(/^[a-z0-9][a-z0-9._-]*$/, {
    message: "id must be a lowercase slug such as 'my-model' (a-z, 0-9, '.', '_' and '-')",
  })
  id: string;

  @ApiProperty({
    description: 'a Hugging Face config.json (hidden_size, num_hidden_layers, ...)',
    type: 'object',
    additionalProperties: true,
  })
  @IsDefined({ message: "config is required: the model's Hugging Face config.json as an object" })
  @IsPlainObject()
  config: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'display name; the id when left out', example: 'My Model' })
  @IsOptional()
  @IsString({ message: 'name must be a string' })
  @MaxLength(200, { message: 'name must be at most 200 characters' })
  name?: string;
}
