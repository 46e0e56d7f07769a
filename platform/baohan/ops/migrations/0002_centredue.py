from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ops', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='CentreDue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('schema_name', models.CharField(max_length=63)),
                ('job', models.CharField(max_length=100)),
                ('due_at', models.DateTimeField()),
            ],
            options={
                'verbose_name': '定时任务到期',
                'indexes': [models.Index(fields=['job', 'due_at'], name='ops_centredue_job_due_at')],
                'constraints': [
                    models.UniqueConstraint(fields=('schema_name', 'job'), name='ops_centredue_one_per_job')
                ],
            },
        ),
    ]
